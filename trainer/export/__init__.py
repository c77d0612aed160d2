"""Export: int8 conversion and its checks, the gate, the card, NAME.md, the plots."""
