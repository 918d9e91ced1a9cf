FORMAT = "databricks-inference"
