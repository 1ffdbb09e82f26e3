"""Tables I-III from a run's per_slice.csv, as CSV, Markdown, LaTeX and HTML (for the report).

Table I (PSNR, SSIM) and Table II (Dice, the paper's eq. 7 over liver and tumour) give mean and
sample standard deviation (ddof=1) over the test slices, as the paper does. Table III gives the
anatomy-aware metrics per class as median (IQR), with a two-sided Wilcoxon signed-rank test of
each method against the base U-Net on the slices where both have a value (a structure absent
from both the truth and the prediction has no value).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

from tact.errors import InputDataError
from tact.evaluation import PER_SLICE_COLUMNS
from tact.io import atomic_path, write_csv
from tact.report.methods import PAPER_TABLE1, PAPER_TABLE2, method_label, paper_order

STRUCTURES = {"liver": "Liver", "tumor": "Tumour"}
ANATOMY_METRICS = {"dice": "Dice", "nsd": "NSD", "cldice": "clDice"}
REFERENCE = "base"


def read_per_slice(path: str | Path) -> pd.DataFrame:
    """per_slice.csv, checked for the columns the tables need."""
    table = pd.read_csv(path)
    missing = [c for c in PER_SLICE_COLUMNS if c not in table.columns]
    if missing:
        raise InputDataError(path, f"missing columns {', '.join(missing)}")
    if table.empty:
        raise InputDataError(path, "has no rows")
    return table


def _mean_std(table: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Mean and sample std of each column per method, rows in the paper's order."""
    grouped = table.groupby("method")
    out = pd.DataFrame(index=paper_order(table["method"]))
    for column in columns:
        out[f"{column}_mean"] = grouped[column].mean()
        out[f"{column}_std"] = grouped[column].std(ddof=1)
    out["n"] = grouped.size()
    out.insert(0, "label", [method_label(m) for m in out.index])
    return out.rename_axis("method").reset_index()


def _with_paper(table: pd.DataFrame, paper: dict, columns: Sequence[str]) -> pd.DataFrame:
    values = [paper.get(m, (np.nan,) * len(columns)) for m in table["method"]]
    for i, column in enumerate(columns):
        table[f"paper_{column}"] = [v[i] for v in values]
    return table


def pixel_table(per_slice: pd.DataFrame, with_paper: bool = False) -> pd.DataFrame:
    """Table I: PSNR and SSIM in the ROI. Full dose is its own reference, so it has no row."""
    table = _mean_std(per_slice[per_slice["method"] != "fulldose"], ["psnr", "ssim"])
    if with_paper:
        table = _with_paper(table, PAPER_TABLE1, ["psnr_mean", "psnr_std", "ssim_mean", "ssim_std"])
    return table


def dice_table(per_slice: pd.DataFrame, with_paper: bool = False) -> pd.DataFrame:
    """Table II: Dice of the frozen segmenter on each method's images."""
    table = _mean_std(per_slice, ["dice"])
    if with_paper:
        table = _with_paper(table, PAPER_TABLE2, ["dice_mean", "dice_std"])
    return table


def paired_p_value(values: pd.Series, reference: pd.Series) -> float:
    """Two-sided Wilcoxon signed-rank p on the pairs where both have a value (1 when all equal)."""
    pairs = pd.concat([values, reference], axis=1, join="inner").dropna()
    if pairs.empty:
        return float("nan")
    difference = pairs.iloc[:, 0] - pairs.iloc[:, 1]
    if (difference == 0).all():
        return 1.0
    return float(wilcoxon(pairs.iloc[:, 0], pairs.iloc[:, 1]).pvalue)


def anatomy_table(per_slice: pd.DataFrame) -> pd.DataFrame:
    """Table III, one row per (method, structure, metric): n, median, quartiles, p vs base."""
    indexed = per_slice.set_index(["volume", "slice"])
    rows = []
    for method in paper_order(per_slice["method"]):
        own = indexed[indexed["method"] == method]
        base = indexed[indexed["method"] == REFERENCE]
        for structure in STRUCTURES:
            for metric in ANATOMY_METRICS:
                column = f"{metric}_{structure}"
                values = own[column].dropna()
                q1, median, q3 = (
                    np.quantile(values, [0.25, 0.5, 0.75]) if len(values) else (np.nan,) * 3
                )
                compare = method != REFERENCE and not base.empty
                rows.append(
                    {
                        "method": method,
                        "label": method_label(method),
                        "structure": structure,
                        "metric": metric,
                        "n": len(values),
                        "median": median,
                        "q1": q1,
                        "q3": q3,
                        "p_vs_base": (
                            paired_p_value(own[column], base[column]) if compare else np.nan
                        ),
                    }
                )
    return pd.DataFrame(rows)


# --- Markdown and LaTeX ----------------------------------------------------------------------


def _number(value: float, digits: int) -> str:
    return "–" if pd.isna(value) else f"{value:.{digits}f}"


def _mean_pm_std(mean: float, std: float, digits: int, latex: bool) -> str:
    if pd.isna(mean):
        return "–"
    pm = r" $\pm$ " if latex else " ± "
    return f"{mean:.{digits}f}{pm}{_number(std, digits)}"


def _p_value(p: float) -> str:
    if pd.isna(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _latex_label(label: str) -> str:
    for name, symbol in (("α=", r"$\alpha="), ("C=", "$C=")):
        if name in label:
            head, value = label.split(name)
            return f"{head}{symbol}{value}$"
    return label


def markdown(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def latex(headers: Sequence[str], rows: Sequence[Sequence[str]], caption: str) -> str:
    """A booktabs table (needs \\usepackage{booktabs})."""
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{caption}}}",
        r"\begin{tabular}{l" + "r" * (len(headers) - 1) + "}",
        r"\toprule",
        " & ".join(headers) + r" \\",
        r"\midrule",
        *(" & ".join(row) + r" \\" for row in rows),
        r"\bottomrule",
        r"\end{tabular}",
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"


HTML_STYLE = """
body { font-family: sans-serif; margin: 1em; color: #1e293b; }
table { border-collapse: collapse; font-size: 14px; }
caption { caption-side: top; text-align: left; font-weight: bold; padding-bottom: 0.5em; }
th, td { padding: 4px 10px; border-bottom: 1px solid #cbd5e1; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 2px solid #334155; }
"""


def html_table(headers: Sequence[str], rows: Sequence[Sequence[str]], caption: str) -> str:
    """A standalone HTML page with the table (what the Snakemake report shows)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>\n"
        for row in rows
    )
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><style>{HTML_STYLE}</style></head>"
        f"<body><table><caption>{html.escape(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table></body></html>\n"
    )


def _pixel_rows(table: pd.DataFrame, latex_cells: bool) -> tuple[list[str], list[list[str]]]:
    with_paper = "paper_psnr_mean" in table
    headers = ["Method", "PSNR (dB)", "SSIM", "n"]
    if with_paper:
        headers = ["Method", "PSNR (dB)", "PSNR, paper", "SSIM", "SSIM, paper", "n"]
    rows = []
    for r in table.itertuples():
        label = _latex_label(r.label) if latex_cells else r.label
        psnr = _mean_pm_std(r.psnr_mean, r.psnr_std, 2, latex_cells)
        ssim = _mean_pm_std(r.ssim_mean, r.ssim_std, 3, latex_cells)
        if with_paper:
            paper_psnr = _mean_pm_std(r.paper_psnr_mean, r.paper_psnr_std, 2, latex_cells)
            paper_ssim = _mean_pm_std(r.paper_ssim_mean, r.paper_ssim_std, 3, latex_cells)
            rows.append([label, psnr, paper_psnr, ssim, paper_ssim, str(r.n)])
        else:
            rows.append([label, psnr, ssim, str(r.n)])
    return headers, rows


def _dice_rows(table: pd.DataFrame, latex_cells: bool) -> tuple[list[str], list[list[str]]]:
    with_paper = "paper_dice_mean" in table
    headers = ["Method", "Dice", *(["Dice, paper"] if with_paper else []), "n"]
    rows = []
    for r in table.itertuples():
        row = [
            _latex_label(r.label) if latex_cells else r.label,
            _mean_pm_std(r.dice_mean, r.dice_std, 3, latex_cells),
        ]
        if with_paper:
            row.append(_mean_pm_std(r.paper_dice_mean, r.paper_dice_std, 3, latex_cells))
        rows.append([*row, str(r.n)])
    return headers, rows


def _anatomy_rows(table: pd.DataFrame, latex_cells: bool) -> tuple[list[str], list[list[str]]]:
    """Wide layout: one row per method, per structure and metric 'median (Q1-Q3)' and p."""
    headers = ["Method"]
    for name in STRUCTURES.values():
        for metric_name in ANATOMY_METRICS.values():
            headers += [f"{name} {metric_name}", "p"]
    dash = "--" if latex_cells else "–"
    rows = []
    for _, group in table.groupby("method", sort=False):
        label = group["label"].iloc[0]
        row = [_latex_label(label) if latex_cells else label]
        for structure in STRUCTURES:
            for metric in ANATOMY_METRICS:
                cell = group[(group["structure"] == structure) & (group["metric"] == metric)]
                r = cell.iloc[0]
                value = (
                    "–"
                    if pd.isna(r["median"])
                    else f"{r['median']:.3f} ({r['q1']:.3f}{dash}{r['q3']:.3f})"
                )
                p = _p_value(r["p_vs_base"])
                row += [value, p.replace("<", "$<$") if latex_cells else p]
        rows.append(row)
    return headers, rows


CAPTIONS = {
    "table1_pixel": (
        "Table I",
        "PSNR (dB) and SSIM in the circular ROI (mean $\\pm$ std over test slices)",
    ),
    "table2_dice": (
        "Table II",
        "Dice (liver and tumour) of the frozen segmentation network (mean $\\pm$ std)",
    ),
    "table3_anatomy": (
        "Table III",
        "Anatomy-aware metrics per class, median (IQR); p: two-sided Wilcoxon signed-rank test "
        "against Base U-Net",
    ),
}
ROWS_OF = {"table1_pixel": _pixel_rows, "table2_dice": _dice_rows, "table3_anatomy": _anatomy_rows}


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_tables(
    per_slice_path: str | Path, out_dir: str | Path, with_paper: bool = False
) -> dict[str, pd.DataFrame]:
    """Tables I-III as CSV, Markdown, LaTeX and HTML (shown in the report) in out_dir."""
    per_slice = read_per_slice(per_slice_path)
    out_dir = Path(out_dir)
    tables = {
        "table1_pixel": pixel_table(per_slice, with_paper),
        "table2_dice": dice_table(per_slice, with_paper),
        "table3_anatomy": anatomy_table(per_slice),
    }
    for name, table in tables.items():
        number, caption = CAPTIONS[name]
        headers, rows = ROWS_OF[name](table, latex_cells=False)
        write_csv(table, out_dir / f"{name}.csv")
        _write_text(out_dir / f"{name}.md", markdown(headers, rows))
        plain_caption = number + ". " + caption.replace(r"$\pm$", "±")
        _write_text(out_dir / f"{name}.html", html_table(headers, rows, plain_caption))
        _write_text(
            out_dir / f"{name}.tex", latex(*ROWS_OF[name](table, latex_cells=True), caption)
        )
    return tables
