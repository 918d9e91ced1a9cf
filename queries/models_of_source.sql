-- The models with rows the store read from one object-storage source (its objects' paths start with $prefix):
-- while that source cannot be listed, their newest rows may be missing, so `check` cannot give them an all clear.
SELECT DISTINCT model FROM predictions WHERE starts_with(source, $prefix) AND model IS NOT NULL
