"""Records for people: shown in the terminal and as HTML reports.

A run's summary is collected once (:mod:`.summary`) and rendered as text (:mod:`.text`) or HTML (:mod:`.report`);
a sweep has its progress lines, table and report (:mod:`.sweep`). Nothing here writes a record: it reads them
through :mod:`kit.record`.
"""
