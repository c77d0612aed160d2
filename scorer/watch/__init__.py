"""`spe watch`: events, completion, the inbox and its moves, intake, notify, the loop."""
