"""Personal data: keyed pseudonyms in place of personal values, and erasing a person from the prediction log."""
