"""The liability report as text (terminal) and CSV files (finance spreadsheets)."""
from __future__ import annotations

import csv
from pathlib import Path


def _n(v) -> str:
    return f"{v:,}" if isinstance(v, int) else str(v)


def text(r: dict) -> str:
    o, m = r["outstanding"], r["movement"]
    lines = [f"points liability as of {r['as_of']}  (¥{r['yen_per_point']} per point, config {r['config_version']})",
             "",
             f"outstanding  {o['points']:>14,} points  ¥{float(o['yen']):>16,.2f}",
             f"debt         {o['debt_points']:>14,} points  ({o['members_in_debt']:,} members with a negative balance)",
             f"net          {o['net_points']:>14,} points  ¥{float(o['net_yen']):>16,.2f}",
             "", "by expiry date        points              yen   members"]
    for e in o["by_expiry"]:
        flag = "  (expired, expiry run pending)" if e["expired_pending"] else ""
        lines.append(f"  {e['expires_on']}  {e['points']:>12,}  {float(e['yen']):>15,.2f}  {e['members']:>8,}{flag}")
    lines += ["", "by status             points              yen   members"]
    for s in o["by_status"]:
        lines.append(f"  {s['status']:<10}  {s['points']:>12,}  {float(s['yen']):>15,.2f}  {s['members']:>8,}")
    lines += ["", f"movement through {m['through']} ({m['entries']:,} ledger entries, "
                  f"{m['duplicates_skipped']:,} republished copies skipped)",
              "  month        issued    redeemed     expired    adjusted         net"]
    for row in m["monthly"]:
        lines.append(f"  {row['month']}  {row['issued']:>10,}  {row['redeemed']:>10,}  {row['expired']:>10,}  "
                     f"{row['adjusted']:>10,}  {row['net']:>10,}")
    lines += ["", "breakage by earn-year (expired ÷ issued; open until the lot has expired)",
              "  earn-year  lot expires     issued     expired  breakage"]
    for b in m["breakage"]:
        rate = f"{b['breakage'] * 100:.1f} %" if b["breakage"] is not None else "-"
        lines.append(f"  {b['earn_year'] or '?':<9}  {b['lot_expires_on']}  {b['issued']:>10,}  {b['expired']:>10,}  "
                     f"{rate:>8}{'' if b['final'] else '  (open)'}")
    c = r["check"]
    lines += ["", f"check: outstanding − debt {c['outstanding_minus_debt']:,} = ledger net {c['ledger_net_points']:,}: "
                  + ("yes" if c["equal"] else "NO (" + c["note"] + ")")]
    return "\n".join(lines) + "\n"


def write_csv(r: dict, path: Path) -> list[Path]:
    """FILE: outstanding by expiry date and status; FILE-monthly, -hotels, -breakage: the movement."""
    path = Path(path)
    stem = path.with_suffix("")
    files = {path: ("expires_on", "status", "points", "yen"),
             Path(f"{stem}-monthly.csv"): ("month", "issued", "redeemed", "expired", "adjusted", "net"),
             Path(f"{stem}-hotels.csv"): ("hotel", "month", "issued", "redeemed", "expired", "adjusted", "net"),
             Path(f"{stem}-breakage.csv"): ("earn_year", "lot_expires_on", "issued", "expired", "breakage", "final")}
    rows = {path: r["outstanding"]["by_expiry_status"], Path(f"{stem}-monthly.csv"): r["movement"]["monthly"],
            Path(f"{stem}-hotels.csv"): r["movement"]["by_hotel"],
            Path(f"{stem}-breakage.csv"): r["movement"]["breakage"]}
    for f, header in files.items():
        f.parent.mkdir(parents=True, exist_ok=True)
        with f.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows[f])
    return list(files)
