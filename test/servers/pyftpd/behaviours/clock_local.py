"""A server in local time (its zone from TZ in its environment): MLSD's modify fact, LIST, MDTM
and MFMT's reply show local time, as pyftpdlib does with use_gmt_times off. MFMT still takes the
time it is given as UTC (pyftpdlib reads it so), and the file gets that time.
"""


class Behaviour:
    use_gmt_times = False
