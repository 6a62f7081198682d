from mlgrader.checks import check_equal

### BEGIN HIDDEN TESTS
cases = [(32, 5, 0, 1), (7, 3, 0, 2), (14, 2, 0, 2), (224, 7, 3, 2), (10, 4, 1, 3), (5, 5, 0, 1)]
got = [conv_output_size(n, k, padding=p, stride=s) for n, k, p, s in cases]
mistakes = {
    "you forgot the + 1: the first position of the filter counts too":
        [(n + 2 * p - k) // s for n, k, p, s in cases],
    "padding is added on both sides: n + 2 * padding":
        [(n + p - k) // s + 1 for n, k, p, s in cases],
    "use floor division (//): a filter that does not fit at the end is not applied":
        [(n + 2 * p - k) / s + 1 for n, k, p, s in cases],
}
hint = next((text for text, wrong in mistakes.items() if got == wrong), None)
check_equal(got, [(n + 2 * p - k) // s + 1 for n, k, p, s in cases],
            name="conv_output_size on (n, kernel, padding, stride) = " + ", ".join(map(str, cases)), hint=hint)
### END HIDDEN TESTS
check_equal(conv_output_size(28, 3, padding=1), 28, name="conv_output_size(28, 3, padding=1)")
check_equal(conv_output_size(28, 2, stride=2), 14, name="conv_output_size(28, 2, stride=2)")
