"""Training on a dataset: torch loaders over shards (needs torch) and the train-motion trainer."""
