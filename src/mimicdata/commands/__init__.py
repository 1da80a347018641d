"""The library side of the commands other than build-dataset."""
