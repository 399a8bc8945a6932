// Store ingest figures: written in the next commit.
print("capreg-store-bench: not written yet")
