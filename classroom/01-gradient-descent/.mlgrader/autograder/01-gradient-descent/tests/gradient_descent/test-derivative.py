from mlgrader.checks import check_close

check_close(df(1.0), 2.0, name="df(1.0)")
