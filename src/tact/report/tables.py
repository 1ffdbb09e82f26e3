"""Tables I-III from a run's per_slice.csv, as CSV, Markdown, LaTeX and HTML (for the report).

Table I (PSNR, SSIM, data consistency) and Table II (Dice, the paper's eq. 7 over liver and
tumour) give mean and sample standard deviation (ddof=1) over the test slices, as the paper
does. Table II gives the Dice of the frozen segmenter g (the paper's column) beside the mean
Dice of the held-out segmenters, which no training saw, and their difference, the task-metric
gap: a method that learnt to steer g scores well by g only. Table III gives the anatomy-aware
metrics per class as median (IQR), by g and by the held-out segmenters, with a two-sided
Wilcoxon signed-rank test of each method against the base U-Net, by the same segmenters, on the
slices where both have a value (a structure absent from both the truth and the prediction has
no value). Table III (3-D) gives the same metrics of each test volume's stacked test slices
(``per_volume.csv``), median (IQR) over test volumes, as CARE reports them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from tact.io import atomic_path, write_csv
from tact.methods import method_label, paper_order
from tact.per_slice import (
    CLASS_COLUMNS,
    HELD_OUT,
    IMAGE_COLUMNS,
    SEGMENTATION_COLUMNS,
    G,
    is_held_out,
    read_per_slice,
    read_per_volume,
)
from tact.report.methods import PAPER_TABLE1, PAPER_TABLE2

# per_slice.csv spells the class as the output contract does (tumor); the labels say tumour
STRUCTURES = {CLASS_COLUMNS["liver"]: "Liver", CLASS_COLUMNS["tumour"]: "Tumour"}
ANATOMY_METRICS = {"dice": "Dice", "nsd": "NSD", "cldice": "clDice"}
SEGMENTER_GROUPS = {G: "g", HELD_OUT: "held-out"}
REFERENCE = "base"
SLICE_KEYS = ["method", "volume", "slice"]
VOLUME_KEYS = ["method", "volume"]
NO_TUMOUR_LABELS = "no tumour labels"


# --- Rows by segmenter -----------------------------------------------------------------------


def g_rows(per_slice: pd.DataFrame) -> pd.DataFrame:
    """The rows of the frozen segmenter g: one per (method, slice), so image metrics count once."""
    return per_slice[per_slice["segmenter"] == G]


def held_out_mean(rows: pd.DataFrame, keys: Sequence[str] = SLICE_KEYS) -> pd.DataFrame:
    """One row per (method, slice), or per ``keys``: each metric's mean over the held-out
    segmenters, NaN left out (NaN where all are NaN). Averaging first weighs every slice (or
    volume) alike, however many segmenters scored it. Empty when the run has none."""
    held = rows[rows["segmenter"].map(is_held_out)]
    columns = [c for c in (*IMAGE_COLUMNS, *SEGMENTATION_COLUMNS) if c in rows]
    mean = held.groupby(list(keys), sort=False)[columns].mean().reset_index()
    return mean.assign(segmenter=HELD_OUT)


def n_held_out(per_slice: pd.DataFrame) -> pd.Series:
    """Number of held-out segmenters per method (0 where none scored it)."""
    held = per_slice[per_slice["segmenter"].map(is_held_out)]
    counts = held.groupby("method")["segmenter"].nunique()
    return counts.reindex(per_slice["method"].unique(), fill_value=0)


def segmenter_groups(
    rows: pd.DataFrame, keys: Sequence[str] = SLICE_KEYS
) -> dict[str, pd.DataFrame]:
    """g's rows, and the held-out mean when there are held-out segmenters."""
    groups = {G: g_rows(rows)}
    held = held_out_mean(rows, keys)
    if not held.empty:
        groups[HELD_OUT] = held
    return groups


# --- The tables ------------------------------------------------------------------------------


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
    """Table I: PSNR and SSIM in the ROI, and data consistency. Full dose is the reference of
    PSNR and SSIM, so it has no row; its consistency goes in the caption."""
    images = g_rows(per_slice)
    table = _mean_std(images[images["method"] != "fulldose"], IMAGE_COLUMNS)
    if with_paper:
        table = _with_paper(table, PAPER_TABLE1, ["psnr_mean", "psnr_std", "ssim_mean", "ssim_std"])
    return table


def fulldose_consistency(per_slice: pd.DataFrame) -> float:
    """Mean consistency of the full-dose images: what Table I's consistency reads against."""
    images = g_rows(per_slice)
    return float(images.loc[images["method"] == "fulldose", "consistency"].mean())


def dice_table(per_slice: pd.DataFrame, with_paper: bool = False) -> pd.DataFrame:
    """Table II: Dice by g (the paper's), the held-out segmenters' mean Dice, and the gap."""
    table = _mean_std(g_rows(per_slice), ["dice"])
    held = held_out_mean(per_slice).groupby("method")["dice"]
    by_method = table["method"]
    table.insert(4, "dice_held_out_mean", by_method.map(held.mean()).astype(float))
    table.insert(5, "dice_held_out_std", by_method.map(held.std(ddof=1)).astype(float))
    table.insert(6, "gap", table["dice_mean"] - table["dice_held_out_mean"])
    table["n_held_out"] = by_method.map(n_held_out(per_slice)).fillna(0).astype(int)
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
    # imported here: scipy.stats takes 1.0 s to import (2-core machine, 2026-12-03), and the
    # figure jobs that import this module for its table helpers never test
    from scipy.stats import wilcoxon

    return float(wilcoxon(pairs.iloc[:, 0], pairs.iloc[:, 1]).pvalue)


def _anatomy_cells(
    own: pd.DataFrame, base: pd.DataFrame, compare: bool, labelled: Sequence[str]
) -> list[dict]:
    """Median, quartiles and p vs base of every (structure, metric) of one method; a structure
    the data does not label has no values (``labelled`` False)."""
    cells = []
    for structure in STRUCTURES:
        for metric in ANATOMY_METRICS:
            column = f"{metric}_{structure}"
            values = own[column].dropna()
            q1, median, q3 = (
                np.quantile(values, [0.25, 0.5, 0.75]) if len(values) else (np.nan,) * 3
            )
            p = paired_p_value(own[column], base[column]) if compare else np.nan
            cells.append(
                {
                    "structure": structure,
                    "metric": metric,
                    "n": len(values),
                    "median": median,
                    "q1": q1,
                    "q3": q3,
                    "p_vs_base": p,
                    "labelled": structure in labelled,
                }
            )
    return cells


def anatomy_table(
    rows: pd.DataFrame, keys: Sequence[str] = SLICE_KEYS, tumour_labels: bool = True
) -> pd.DataFrame:
    """Table III, one row per (method, segmenter group, structure, metric): n, median,
    quartiles, p vs base by the same segmenters. Groups: g, and the held-out mean if any.
    ``keys``: what one value belongs to (SLICE_KEYS, or VOLUME_KEYS for the 3-D table);
    without ``tumour_labels`` the tumour rows say ``labelled`` False."""
    labelled = [s for s in STRUCTURES if tumour_labels or s == CLASS_COLUMNS["liver"]]
    pairs = list(keys[1:])  # the same slice (or volume) of two methods makes a pair
    groups = {name: group.set_index(pairs) for name, group in segmenter_groups(rows, keys).items()}
    table = []
    for method in paper_order(rows["method"]):
        for name, indexed in groups.items():
            own = indexed[indexed["method"] == method]
            base = indexed[indexed["method"] == REFERENCE]
            compare = method != REFERENCE and not base.empty
            head = {"method": method, "label": method_label(method), "segmenter": name}
            cells = _anatomy_cells(own, base, compare, labelled)
            table += [{**head, **cell} for cell in cells]
    return pd.DataFrame(table)


# --- Markdown and LaTeX ----------------------------------------------------------------------


def number_cell(value: float, digits: int) -> str:
    """A table cell: the value to ``digits`` decimals, a dash when it has none."""
    return "–" if pd.isna(value) else f"{value:.{digits}f}"


def _mean_pm_std(mean: float, std: float, digits: int, latex: bool) -> str:
    if pd.isna(mean):
        return "–"
    pm = r" $\pm$ " if latex else " ± "
    return f"{mean:.{digits}f}{pm}{number_cell(std, digits)}"


def _p_value(p: float) -> str:
    if pd.isna(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _latex_label(label: str) -> str:
    """'Task-adaptive α=0.5, segmenter ensemble' -> 'Task-adaptive $\\alpha=0.5$, segmenter ...'."""
    label = re.sub(r"α=([0-9.]+)", r"$\\alpha=\1$", label)
    return re.sub(r"\bC=([0-9.]+)", r"$C=\1$", label)


def _label(label: str, latex_cells: bool) -> str:
    return _latex_label(label) if latex_cells else label


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
    headers = ["Method", "PSNR (dB)", "SSIM", "Consistency", "n"]
    if with_paper:
        headers = ["Method", "PSNR (dB)", "PSNR, paper", "SSIM", "SSIM, paper", "Consistency"]
        headers.append("n")
    rows = []
    for r in table.itertuples():
        psnr = _mean_pm_std(r.psnr_mean, r.psnr_std, 2, latex_cells)
        ssim = _mean_pm_std(r.ssim_mean, r.ssim_std, 3, latex_cells)
        consistency = _mean_pm_std(r.consistency_mean, r.consistency_std, 2, latex_cells)
        if with_paper:
            paper_psnr = _mean_pm_std(r.paper_psnr_mean, r.paper_psnr_std, 2, latex_cells)
            paper_ssim = _mean_pm_std(r.paper_ssim_mean, r.paper_ssim_std, 3, latex_cells)
            cells = [psnr, paper_psnr, ssim, paper_ssim, consistency]
        else:
            cells = [psnr, ssim, consistency]
        rows.append([_label(r.label, latex_cells), *cells, str(r.n)])
    return headers, rows


def _dice_rows(table: pd.DataFrame, latex_cells: bool) -> tuple[list[str], list[list[str]]]:
    with_paper = "paper_dice_mean" in table
    headers = ["Method", "Dice by g", *(["Dice by g, paper"] if with_paper else [])]
    headers += ["Dice by held-out", "Gap", "n"]
    rows = []
    for r in table.itertuples():
        row = [
            _label(r.label, latex_cells),
            _mean_pm_std(r.dice_mean, r.dice_std, 3, latex_cells),
        ]
        if with_paper:
            row.append(_mean_pm_std(r.paper_dice_mean, r.paper_dice_std, 3, latex_cells))
        row.append(_mean_pm_std(r.dice_held_out_mean, r.dice_held_out_std, 3, latex_cells))
        rows.append([*row, number_cell(r.gap, 3), str(r.n)])
    return headers, rows


def _anatomy_cell(r: pd.Series, latex_cells: bool) -> list[str]:
    """'median (Q1-Q3)' and p of one (structure, metric)."""
    dash = "--" if latex_cells else "–"
    value = "–" if pd.isna(r["median"]) else f"{r['median']:.3f} ({r['q1']:.3f}{dash}{r['q3']:.3f})"
    p = _p_value(r["p_vs_base"])
    return [value, p.replace("<", "$<$") if latex_cells else p]


def _anatomy_rows(table: pd.DataFrame, latex_cells: bool) -> tuple[list[str], list[list[str]]]:
    """Wide layout: one row per method and segmenter group, per structure and metric
    'median (Q1-Q3)' and p."""
    unlabelled = set(table.loc[~table["labelled"].astype(bool), "structure"])
    headers = ["Method", "Segmenter"]
    for structure, name in STRUCTURES.items():
        if structure in unlabelled:
            headers.append(name)
            continue
        for metric_name in ANATOMY_METRICS.values():
            headers += [f"{name} {metric_name}", "p"]
    rows = []
    for (_, segmenter), group in table.groupby(["method", "segmenter"], sort=False):
        cells = group.set_index(["structure", "metric"])
        row = [_label(group["label"].iloc[0], latex_cells), SEGMENTER_GROUPS[segmenter]]
        for structure in STRUCTURES:
            if structure in unlabelled:
                row.append(NO_TUMOUR_LABELS)
                continue
            for metric in ANATOMY_METRICS:
                row += _anatomy_cell(cells.loc[(structure, metric)], latex_cells)
        rows.append(row)
    return headers, rows


def held_out_phrase(count: int) -> str:
    """How a caption names the run's held-out segmenters."""
    if count == 0:
        return "held-out segmenters (none in this run)"
    noun = "segmenter" if count == 1 else "segmenters"
    return f"{count} held-out {noun}, which no training saw"


def _skipped_volumes(per_volume: pd.DataFrame) -> str:
    """What the 3-D table leaves out: volumes whose test slices could not be stacked."""
    volumes = per_volume.groupby("volume")["contiguous"].all()
    skipped = int((~volumes).sum())
    if skipped == 0:
        return ""
    return (
        f"; {skipped} of {len(volumes)} test volumes left out: their test slices are not "
        "contiguous (a slice-level split), so they do not stack into a volume"
    )


def _tumour_note(tumour_labels: bool) -> str:
    return "" if tumour_labels else f"; {NO_TUMOUR_LABELS}: this data labels the liver alone"


def volume_caption(per_volume: pd.DataFrame, tumour_labels: bool = True) -> tuple[str, str]:
    """Number and caption of the 3-D Table III."""
    held_out = held_out_phrase(int(n_held_out(per_volume).max()))
    return (
        "Table III (3-D)",
        "Anatomy-aware metrics per class of each test volume, its test slices stacked with "
        f"the slice thickness as spacing (as CARE reports them), by g and by {held_out} "
        "(their mean per volume), median (IQR) over test volumes; p: two-sided Wilcoxon "
        f"signed-rank test against Base U-Net by the same segmenters{_skipped_volumes(per_volume)}"
        f"{_tumour_note(tumour_labels)}",
    )


def _dice_classes(tumour_labels: bool) -> str:
    if tumour_labels:
        return "Dice (liver and tumour)"
    return (
        f"Dice of the liver alone ({NO_TUMOUR_LABELS}: eq. 7's tumour term, 1 on every slice"
        " where neither mask holds a tumour, is left out)"
    )


def captions(
    per_slice: pd.DataFrame, readings: str = "", tumour_labels: bool = True
) -> dict[str, tuple[str, str]]:
    """Number and caption (LaTeX) of each table; Table I's states the full-dose consistency,
    the reference its consistency column reads against; Tables I and II end with
    ``readings``, how the FBP and BM3D rows were made (tact.readings.Readings.sentence);
    Tables II and III say when the data has no tumour labels."""
    held_out = held_out_phrase(int(n_held_out(per_slice).max()))
    reference = number_cell(fulldose_consistency(per_slice), 2)
    baselines = f". {readings}" if readings else ""
    return {
        "table1_pixel": (
            "Table I",
            "PSNR (dB) and SSIM in the circular ROI, and data consistency with the measured "
            f"counts (full dose: {reference}; far above that, the image contradicts the data); "
            f"mean $\\pm$ std over test slices{baselines}",
        ),
        "table2_dice": (
            "Table II",
            f"{_dice_classes(tumour_labels)} by the frozen segmenter g, as in the paper, and the"
            f" mean Dice by {held_out}; gap = g minus held-out; mean $\\pm$ std over test slices"
            f"{baselines}",
        ),
        "table3_anatomy": (
            "Table III",
            f"Anatomy-aware metrics per class by g and by {held_out} (their mean per slice), "
            "median (IQR); p: two-sided Wilcoxon signed-rank test against Base U-Net by the "
            f"same segmenters{_tumour_note(tumour_labels)}",
        ),
    }


ROWS_OF = {
    "table1_pixel": _pixel_rows,
    "table2_dice": _dice_rows,
    "table3_anatomy": _anatomy_rows,
    "table3_anatomy_3d": _anatomy_rows,
}


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_tables(
    per_slice_path: str | Path,
    out_dir: str | Path,
    *,
    with_paper: bool = False,
    readings: str = "",
    per_volume_path: str | Path | None = None,
    tumour_labels: bool = True,
) -> dict[str, pd.DataFrame]:
    """Tables I-III (and the 3-D Table III from ``per_volume_path``) as CSV, Markdown, LaTeX
    and HTML (shown in the report) in out_dir; ``readings``: how the baselines' rows were
    made, for the captions of Tables I and II; ``tumour_labels`` False: the data labels no
    tumour, and Tables II and III say so."""
    per_slice = read_per_slice(per_slice_path)
    out_dir = Path(out_dir)
    tables = {
        "table1_pixel": pixel_table(per_slice, with_paper),
        "table2_dice": dice_table(per_slice, with_paper),
        "table3_anatomy": anatomy_table(per_slice, tumour_labels=tumour_labels),
    }
    all_captions = captions(per_slice, readings, tumour_labels)
    if per_volume_path is not None:
        per_volume = read_per_volume(per_volume_path)
        tables["table3_anatomy_3d"] = anatomy_table(per_volume, VOLUME_KEYS, tumour_labels)
        all_captions["table3_anatomy_3d"] = volume_caption(per_volume, tumour_labels)
    for name, (number, caption) in all_captions.items():
        write_table(tables[name], ROWS_OF[name], out_dir / name, number=number, caption=caption)
    return tables


def write_table(table: pd.DataFrame, rows_of, stem: Path, *, number: str, caption: str) -> None:
    """One table as ``stem``.csv (its values), .md, .html (what the report shows) and .tex,
    the last three laid out by ``rows_of(table, latex_cells)`` -> (headers, rows), under
    ``number``. ``caption`` (LaTeX)."""
    headers, rows = rows_of(table, latex_cells=False)
    write_csv(table, stem.with_suffix(".csv"))
    plain_caption = f"{number}. " + caption.replace(r"$\pm$", "±")
    _write_text(stem.with_suffix(".md"), f"**{plain_caption}**\n\n" + markdown(headers, rows))
    _write_text(stem.with_suffix(".html"), html_table(headers, rows, plain_caption))
    _write_text(stem.with_suffix(".tex"), latex(*rows_of(table, latex_cells=True), caption))
