"""Body, tasks and Gymnasium environments of neuroleg."""
