"""Personal data: keyed pseudonyms in place of personal values (`erase` finds a person's predictions by theirs)."""
