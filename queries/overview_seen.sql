-- Every model and environment ever seen in the logs (the Overview lists them even without recent rows).
SELECT DISTINCT model, environment
FROM predictions
