"""Tables, figures and summaries made from a run's outputs."""
