"""PNG charts of the liability report for a finance monthly pack (matplotlib, no display needed):
``liability-by-expiry.png`` (outstanding points and yen by expiry year, by status) and
``movement-monthly.png`` (issued, redeemed, expired, adjusted per month, with the net change)."""
from __future__ import annotations

from pathlib import Path

STATUS_COLOURS = {"REGULAR": "#9aa5b1", "LOYAL": "#3c7dd9", "EXCLUSIVE": "#1b2a4a"}
MOVE_COLOURS = {"issued": "#2e9e5b", "redeemed": "#3c7dd9", "expired": "#c0392b", "adjusted": "#f0a30a"}


def write_png(r: dict, directory: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    yen = float(r["yen_per_point"])
    thousands = FuncFormatter(lambda v, _: f"{v:,.0f}")
    files = []

    # 1. outstanding by expiry year and status
    rows = r["outstanding"]["by_expiry_status"]
    years = sorted({x["expires_on"] for x in rows})
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    bottom = [0.0] * len(years)
    for status, colour in STATUS_COLOURS.items():
        vals = [sum(x["points"] for x in rows if x["expires_on"] == y and x["status"] == status) for y in years]
        ax.bar(years, vals, bottom=bottom, color=colour, label=status)
        bottom = [b + v for b, v in zip(bottom, vals)]
    for i, total in enumerate(bottom):
        ax.annotate(f"¥{total * yen:,.0f}", (i, total), ha="center", va="bottom", fontsize=8)
    ax.set_title(f"Outstanding points by expiry date, as of {r['as_of']}  (¥{r['yen_per_point']}/point)")
    ax.set_ylabel("points")
    ax.yaxis.set_major_formatter(thousands)
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    f = directory / "liability-by-expiry.png"
    fig.savefig(f)
    plt.close(fig)
    files.append(f)

    # 2. monthly movement
    monthly = r["movement"]["monthly"]
    months = [x["month"] for x in monthly]
    fig, ax = plt.subplots(figsize=(max(8, len(months) * 0.35), 4.5), dpi=110)
    width = 0.2
    xs = range(len(months))
    for k, (col, colour) in enumerate(MOVE_COLOURS.items()):
        sign = -1 if col in ("redeemed", "expired") else 1  # what leaves the liability is drawn below 0
        ax.bar([x + (k - 1.5) * width for x in xs], [sign * row[col] for row in monthly], width,
               color=colour, label=col)
    ax.plot(list(xs), [row["net"] for row in monthly], color="black", marker="o", markersize=3, linewidth=1,
            label="net change")
    ax.axhline(0, color="#555", linewidth=0.6)
    ax.set_xticks(list(xs))
    ax.set_xticklabels(months, rotation=90, fontsize=7)
    ax.yaxis.set_major_formatter(thousands)
    ax.set_ylabel("points")
    ax.set_title(f"Points movement per month, through {r['movement']['through']}")
    ax.legend(frameon=False, ncol=5, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    f = directory / "movement-monthly.png"
    fig.savefig(f)
    plt.close(fig)
    files.append(f)
    return files
