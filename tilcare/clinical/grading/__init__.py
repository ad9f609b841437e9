"""Published grading scales (NEWS2, ASTCT CRS): pure code, version in the module or scale name."""
