"""tact: task-adaptive low-dose CT reconstruction."""
