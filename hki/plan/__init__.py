"""The plan tree: Plan → Field → Goal → Measure, with organisations and indicators."""
