FORMAT = "mlflow-traces"
