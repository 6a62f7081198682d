from mlgrader.checks import check_equal

check_equal(conv_output_size(28, 3, padding=1), 28, name="conv_output_size(28, 3, padding=1)")
check_equal(conv_output_size(28, 2, stride=2), 14, name="conv_output_size(28, 2, stride=2)")
