"""Training: the recipe, augmentation, fit, the experiment pipeline, distributed training,
background jobs."""
