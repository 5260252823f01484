"""The illustrative demo plan (invented content, see the header of ``example_plan.yaml``)."""
