"""Suggesting which columns of a user's table are personal or protected, for the drafted contract.

Only suggestions: the drafted contract marks them and writes what it decided on each one's
`model_input` line, `tabular-mlops contract` prints the same, one line per column, and the person
reviewing it decides. A protected column stays a model input: whether to train on age or sex is
the user's call (the law may forbid it in lending; medicine usually needs it), so the draft never
changes what the model learns. A personal column (a name, an email) is kept out, loudly: not
storing people's details is the point of marking it, and a person's email is never a sensible
input.

A name is matched as words (`customer_email`, `DateOfBirth`, `ageOFocc`), so `Age` matches but
`Mileage` does not; values are checked where a name says nothing (an email address or phone
number column called `contact`). An identifier of rows (every value different) is not suggested:
featurize's report points at it, and data.drop_columns is the place for it.
"""
from __future__ import annotations

import re

import pandas as pd

from tabular_mlops.data.dates import parse_datetimes

# Words that name a person or a way to reach or identify one.
PERSONAL_WORDS = {
    "name", "firstname", "lastname", "surname", "fullname", "email", "mail", "phone", "mobile", "telephone",
    "address", "street", "postcode", "zipcode", "zip", "ssn", "passport", "iban", "nin", "nhs",
    "birth", "dob", "birthdate", "birthday", "ip",
}
# Words that identify a person only as a number or code (`account_number`, `tax_id`, `licence_no`):
# alone they name ordinary features (`account_balance`, `tax_paid`, `license_type`), which the
# draft must not take out of the model.
IDENTIFIED_BY_NUMBER = {"account", "tax", "national", "license", "licence", "card", "insurance", "social"}
NUMBER_WORDS = {"number", "no", "nr", "num", "id", "code"}
# Group attributes that anti-discrimination law and fairness reviews compare people by.
PROTECTED_WORDS = {
    "sex", "gender", "age", "marital", "married", "race", "ethnicity", "ethnic", "religion", "nationality",
    "citizenship", "disability", "disabled", "pregnancy", "pregnant", "orientation",
}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
PHONE = re.compile(r"^\+?[\d\s().-]{7,}$")


def name_words(column: str) -> set[str]:
    """`customer_email` -> {customer, email}; `DateOfBirth` -> {date, of, birth}."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", column)
    words = {word.lower() for word in re.split(r"[^A-Za-z0-9]+", spaced) if word}
    return words | {"".join(sorted(words))} if len(words) > 1 else words


def suggest_personal(column: str, values: pd.Series) -> str | None:
    """Why `column` looks personal, or None."""
    words = name_words(column) | {re.sub(r"[^a-z]", "", column.lower())}
    matched = sorted(words & PERSONAL_WORDS)
    if matched:
        return f"its name says '{matched[0]}'"
    numbered = sorted(words & IDENTIFIED_BY_NUMBER)
    if numbered and words & NUMBER_WORDS:
        return f"its name says '{numbered[0]}' with '{sorted(words & NUMBER_WORDS)[0]}'"
    text = values.dropna()
    if text.empty or pd.api.types.is_numeric_dtype(text) or pd.api.types.is_bool_dtype(text):
        return None
    sample = text.astype(str).head(1000)
    if parse_datetimes(sample).notna().all():
        return None  # 2024-01-31 is a date, not a phone number
    if sample.map(lambda value: bool(EMAIL.match(value))).all():
        return "its values are email addresses"
    if sample.map(lambda value: bool(PHONE.match(value)) and sum(c.isdigit() for c in value) >= 7).all():
        return "its values look like phone numbers"
    return None


def suggest_protected(column: str) -> str | None:
    """Why `column` looks like a group attribute to check for bias, or None."""
    matched = sorted(name_words(column) & PROTECTED_WORDS)
    return f"its name says '{matched[0]}'" if matched else None


PROTECTED_DECISION = ("still a model input (model_input: true). Set model_input: false to train without it; fairness is"
                      " still reported by it. Lending: the law may forbid it as an input. Medicine: age and sex are usually needed.")
PERSONAL_DECISION = ("NOT a model input (model_input: false): validate checks it, then drops it, so the pipeline's files"
                     " and the model never hold it.")


def decision_line(column: str, kind: str, reason: str, column_type: str) -> str:
    """What the draft decided for a suggested column, why, and how to change it: one line for the terminal."""
    if kind == "protected":
        return f"{column}: protected ({reason}): {PROTECTED_DECISION}"
    return f"{column}: personal ({reason}): {PERSONAL_DECISION} {personal_change(column_type)}"


def personal_change(column_type: str) -> str:
    """How to train on a column suggested personal: a text column is never an input, so it must become a category."""
    if column_type == "text":
        return ("If it is not personal data and should be an input: delete personal: true, set type: category,"
                " list its categories and set model_input: true.")
    return "To train on it anyway, set model_input: true (its values are then stored with the data and the model)."


def decision_comment(kind: str, reason: str) -> str:
    """The same decision, short, beside the `model_input` line of the drafted contract."""
    if kind == "protected":
        return f"suggested protected ({reason}): kept as an input; false trains without it"
    return f"suggested personal ({reason}): kept OUT of the model and the data; see the header to change it"
