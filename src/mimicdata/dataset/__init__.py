"""A dataset on disk: shards, manifest, layout."""
