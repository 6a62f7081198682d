"""The narrow channel between the trusted grader and a student's kernel.

- :mod:`~mlgrader.channel.protocol`: the names both sides agree on (request ops, the reply's
  MIME type, the helper's name in the kernel);
- :mod:`~mlgrader.channel.codec`: values as plain data (JSON nodes, ``.npy`` without pickle),
  the only form in which anything crosses;
- :mod:`~mlgrader.channel.kernel_agent`: runs *inside* the student's kernel (untrusted by
  design) and answers requests;
- :mod:`~mlgrader.channel.proxy`: the grader's side: requests, decoded replies, and proxies
  for notebook objects that are not data.

The grader side never imports the kernel side (a test of the import graph says so). This
file imports nothing: the kernel loads the agent without the grader's modules.
"""
