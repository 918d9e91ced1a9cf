FORMAT = "otlp"
