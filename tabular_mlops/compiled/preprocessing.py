"""The fitted preprocessing (features/preprocessing.py's ColumnTransformer) as ONNX nodes.

One graph input per branch: `numeric` (doubles, NaN missing), `categorical` (strings, MISSING
for a missing value) and `datetime` (each date's day number since 1970-01-01, NaN missing;
runtime.py computes it). Every step repeats scikit-learn's arithmetic in the same order, in
double precision, so the features match to the last bits. A step this module does not know is
refused by name (NotCompilable): the bundle then serves the pipeline with scikit-learn.
"""
from __future__ import annotations

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder, RobustScaler, StandardScaler

from tabular_mlops.compiled.graph import DOUBLE, STRING, Graph, NotCompilable
from tabular_mlops.compiled.runtime import MISSING
from tabular_mlops.features.transformers import LN2_HIGH, LN2_LOW, LOG_POLYNOMIAL, DatetimeParts, OutlierClipper, signed_log

BRANCH_TYPES = {"numeric": DOUBLE, "categorical": STRING, "datetime": DOUBLE}


def preprocessing_nodes(graph: Graph, transformer: ColumnTransformer) -> tuple[str, dict[str, list[str]]]:
    """The output (the model's features, in the ColumnTransformer's order) and the inputs: {branch: columns}."""
    outputs, layout = [], {}
    for name, steps, columns in transformer.transformers_:
        if isinstance(steps, str) or not len(columns):
            if steps not in ("drop",) and len(columns):
                raise NotCompilable(f"the preprocessing branch {name!r} passes columns through ({steps})")
            continue
        if name not in BRANCH_TYPES:
            raise NotCompilable(f"the preprocessing branch {name!r} is not one of {', '.join(BRANCH_TYPES)}")
        columns = [str(column) for column in columns]
        values = graph.input(name, BRANCH_TYPES[name], len(columns))
        for step_name, step in (steps.steps if isinstance(steps, Pipeline) else [(name, steps)]):
            values = _step(graph, step, values, f"{name}/{step_name}")
        outputs.append(values)
        layout[name] = columns
    if not outputs:
        raise NotCompilable("the preprocessing has no input columns")
    return graph.concat(outputs), layout


def _step(graph: Graph, step, values: str, where: str) -> str:
    if isinstance(step, OutlierClipper):
        return _clip(graph, step, values)
    if isinstance(step, FunctionTransformer):
        if step.func is not signed_log or step.kw_args:
            raise NotCompilable(f"{where}: a FunctionTransformer of {getattr(step.func, '__name__', step.func)!r} has no ONNX form here")
        return graph.node("Mul", graph.node("Sign", values), _log1p(graph, graph.node("Abs", values)))
    if isinstance(step, SimpleImputer):
        return _impute(graph, step, values, where)
    if isinstance(step, StandardScaler):
        return _shift_and_divide(graph, values, step.mean_ if step.with_mean else None, step.scale_ if step.with_std else None)
    if isinstance(step, RobustScaler):
        return _shift_and_divide(graph, values, step.center_ if step.with_centering else None, step.scale_ if step.with_scaling else None)
    if isinstance(step, MinMaxScaler):
        scaled = graph.node("Add", graph.node("Mul", values, graph.constant(step.scale_)), graph.constant(step.min_))
        return graph.node("Clip", scaled, graph.constant(float(step.feature_range[0])), graph.constant(float(step.feature_range[1]))) \
            if step.clip else scaled
    if isinstance(step, OneHotEncoder):
        return _one_hot(graph, step, values, where)
    if isinstance(step, DatetimeParts):
        return _date_parts(graph, step, values)
    raise NotCompilable(f"{where}: {type(step).__name__} has no ONNX form here")


def _clip(graph: Graph, clipper: OutlierClipper, values: str) -> str:
    if np.isinf(clipper.lower_).all() and np.isinf(clipper.upper_).all():
        return values
    clipped = graph.node("Min", graph.node("Max", values, graph.constant(clipper.lower_)), graph.constant(clipper.upper_))
    return graph.node("Where", graph.node("IsNaN", values), values, clipped)  # np.clip keeps NaN


def _log1p(graph: Graph, a: str) -> str:
    """features/transformers.py's _log1p, operation for operation, so the bits match: a tree's
    threshold may be a training value itself, and one ulp would send a row down the other branch.
    frexp has no ONNX operator: k comes from the natural log, corrected so the mantissa lies in
    [1/2, 1); dividing by powers of two is exact."""
    def c(value: float) -> str:
        return graph.constant(float(value))

    add, sub, mul, div = (lambda x, y: graph.node("Add", x, y)), (lambda x, y: graph.node("Sub", x, y)), \
        (lambda x, y: graph.node("Mul", x, y)), (lambda x, y: graph.node("Div", x, y))
    where, less = (lambda condition, x, y: graph.node("Where", condition, x, y)), (lambda x, y: graph.node("Less", x, y))
    u = add(c(1.0), a)
    lost = div(where(less(a, c(1.0)), sub(a, sub(u, c(1.0))), sub(c(1.0), sub(u, a))), u)
    finite = graph.node("Not", graph.node("Or", graph.node("IsNaN", u), graph.node("IsInf", u)))
    safe = where(finite, u, c(1.0))  # NaN and inf take the last line's branch
    k = add(graph.node("Floor", div(graph.node("Log", safe), c(np.log(2.0)))), c(1.0))

    def scaled(k_: str) -> str:  # safe / 2**k in two exact steps (2**1024 would overflow)
        half = graph.node("Floor", div(k_, c(2.0)))
        return div(div(safe, graph.node("Pow", c(2.0), half)), graph.node("Pow", c(2.0), sub(k_, half)))

    mantissa = scaled(k)
    k = add(k, sub(graph.node("Cast", graph.node("GreaterOrEqual", mantissa, c(1.0)), to=DOUBLE),
                   graph.node("Cast", less(mantissa, c(0.5)), to=DOUBLE)))
    mantissa = scaled(k)
    low = less(mantissa, c(np.sqrt(0.5)))
    f = sub(where(low, mul(c(2.0), mantissa), mantissa), c(1.0))
    k = where(low, sub(k, c(1.0)), k)
    s = div(f, add(c(2.0), f))
    z = mul(s, s)
    w = mul(z, z)
    p1, p2, p3, p4, p5, p6, p7 = (c(value) for value in LOG_POLYNOMIAL)
    r = add(mul(z, add(p1, mul(w, add(p3, mul(w, add(p5, mul(w, p7))))))), mul(w, add(p2, mul(w, add(p4, mul(w, p6))))))
    half_f_squared = mul(mul(c(0.5), f), f)
    result = sub(mul(k, c(LN2_HIGH)), sub(sub(half_f_squared, add(mul(s, add(half_f_squared, r)), add(mul(k, c(LN2_LOW)), lost))), f))
    return where(graph.node("IsNaN", a), a, where(graph.node("IsInf", a), a, result))


def _impute(graph: Graph, imputer: SimpleImputer, values: str, where: str) -> str:
    if not (isinstance(imputer.missing_values, float) and np.isnan(imputer.missing_values)):
        raise NotCompilable(f"{where}: SimpleImputer with missing_values={imputer.missing_values!r} (only NaN here)")
    statistics = np.asarray(imputer.statistics_)
    numeric = statistics.dtype.kind in "fc"
    if not numeric and imputer.indicator_ is not None:
        raise NotCompilable(f"{where}: missing indicators on categories have no ONNX form here")
    if numeric:
        missing = graph.node("IsNaN", values)
        filled = graph.node("Where", missing, graph.constant(statistics), values)
        kept = np.arange(len(statistics)) if imputer.keep_empty_features else np.flatnonzero(~np.isnan(statistics))
    else:  # categories: the fill value (most frequent, or the constant) per column
        missing = graph.node("Equal", values, graph.constant(np.array([MISSING], dtype=object)))
        filled = graph.node("Where", missing, graph.constant(statistics.astype(str).astype(object)), values)
        kept = np.arange(len(statistics))
    if len(kept) < len(statistics):  # scikit-learn drops a column with no training values
        filled = graph.columns(filled, kept)
    if imputer.indicator_ is None or not len(imputer.indicator_.features_):
        return filled
    # the indicators follow the imputed columns, one per column that had missing training values
    indicators = graph.node("Cast", graph.columns(missing, imputer.indicator_.features_), to=DOUBLE)
    return graph.concat([filled, indicators])


def _shift_and_divide(graph: Graph, values: str, shift, scale) -> str:
    """(x - shift) / scale, as scikit-learn's scalers compute it."""
    if shift is not None:
        values = graph.node("Sub", values, graph.constant(shift))
    if scale is not None:
        values = graph.node("Div", values, graph.constant(scale))
    return values


def _one_hot(graph: Graph, encoder: OneHotEncoder, values: str, where: str) -> str:
    if encoder.drop_idx_ is not None:
        raise NotCompilable(f"{where}: OneHotEncoder with drop={encoder.drop!r}")
    if encoder.handle_unknown not in ("ignore", "infrequent_if_exist"):
        raise NotCompilable(f"{where}: OneHotEncoder with handle_unknown={encoder.handle_unknown!r}")
    infrequent = getattr(encoder, "infrequent_categories_", [None] * len(encoder.categories_))
    outputs = []
    for position, (categories, rare) in enumerate(zip(encoder.categories_, infrequent)):
        if categories.dtype.kind not in "OUS" or not all(isinstance(category, str) for category in categories):
            raise NotCompilable(f"{where}: column {position}'s categories are not strings")
        rare = set() if rare is None else set(rare)
        frequent = [category for category in categories if category not in rare]
        column = graph.columns(values, [position])
        hits = graph.node("Cast", graph.node("Equal", column, graph.constant(np.array([frequent], dtype=object))), to=DOUBLE)
        outputs.append(hits)
        if rare:  # every value that is none of the frequent ones: infrequent, or unseen (infrequent_if_exist)
            outputs.append(graph.node("Sub", graph.constant(1.0), graph.node("ReduceSum", hits, graph.constant(np.array([1], dtype=np.int64)), keepdims=1)))
    return graph.concat(outputs)


def _date_parts(graph: Graph, parts: DatetimeParts, days: str) -> str:
    """DatetimeParts from day numbers: the proleptic Gregorian calendar's year, month, day of the
    week (Monday 0) and day of the year, by H. Hinnant's civil_from_days (exact integer
    arithmetic in doubles; NaN stays NaN)."""
    outputs = []
    for position, (name, chosen) in enumerate(parts.parts_.items()):
        day = graph.columns(days, [position])
        computed = _calendar(graph, day)
        outputs.extend(computed[part] for part in chosen)
    return graph.concat(outputs)


def _calendar(graph: Graph, day: str) -> dict[str, str]:
    def c(value: float) -> str:
        return graph.constant(float(value))

    def floor_div(a: str, b: float) -> str:
        return graph.node("Floor", graph.node("Div", a, c(b)))

    def mul(a: str, b: float) -> str:
        return graph.node("Mul", a, c(b))

    add, sub = (lambda a, b: graph.node("Add", a, b)), (lambda a, b: graph.node("Sub", a, b))
    z = add(day, c(719468))
    era = floor_div(z, 146097)
    doe = sub(z, mul(era, 146097))  # day of the era, [0, 146096]
    yoe = floor_div(add(sub(doe, floor_div(doe, 1460)), sub(floor_div(doe, 36524), floor_div(doe, 146096))), 365)
    doy_march = sub(doe, add(mul(yoe, 365), sub(floor_div(yoe, 4), floor_div(yoe, 100))))  # from 1 March
    month_march = floor_div(add(mul(doy_march, 5), c(2)), 153)
    month = graph.node("Where", graph.node("Less", month_march, c(10)), add(month_march, c(3)), sub(month_march, c(9)))
    year = add(add(yoe, mul(era, 400)), graph.node("Cast", graph.node("LessOrEqual", month, c(2)), to=DOUBLE))
    # 1 January of `year` as a day number, then the day of the year counts from it (1-based)
    before = sub(year, c(1))
    era_1 = floor_div(before, 400)
    yoe_1 = sub(before, mul(era_1, 400))
    doe_1 = add(add(mul(yoe_1, 365), sub(floor_div(yoe_1, 4), floor_div(yoe_1, 100))), c(306))
    first_january = sub(add(mul(era_1, 146097), doe_1), c(719468))
    day_of_year = add(sub(day, first_january), c(1))
    shifted = add(day, c(3))  # 1970-01-01 was a Thursday: 3 with Monday 0
    day_of_week = sub(shifted, mul(floor_div(shifted, 7), 7))
    return {"year": year, "month": month, "day_of_week": day_of_week, "day_of_year": day_of_year}

