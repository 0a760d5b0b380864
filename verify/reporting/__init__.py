"""The report's parts, one job each: :mod:`.stable` (what may be printed on
any CPU), :mod:`.environment`, :mod:`.atomic` (writing a set of files at
once), :mod:`.markdown` (REPORT.md), :mod:`.overview` (the at-a-glance
figure), :mod:`.site` (the HTML catalogue), :mod:`.latex` (a table for papers)."""
