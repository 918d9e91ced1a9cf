FORMAT = "kserve-cloudevents"
