"""Tables, the data contract, validation, cleaning and the split."""
