"""ombt controller results: parsing, merging and per-run statistics."""
