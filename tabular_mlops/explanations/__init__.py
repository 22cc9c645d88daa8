"""Why the model gave a row its output: SHAP contributions per raw input column, and what to tell a person.

explainers.build_explainer(model, background, task, seed) -> Explainer; contributions.explain(explainer,
rows) -> Explanation; reasons.reason_codes, top_contributions and global_importance read an Explanation.
Pure functions of their inputs: no files, no params.
"""
