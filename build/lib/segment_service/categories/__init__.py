"""The Category Service (category.yml): categories and their hierarchy; see docs/categories.md."""
