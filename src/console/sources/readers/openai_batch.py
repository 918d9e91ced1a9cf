FORMAT = "openai-batch"
