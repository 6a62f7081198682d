"""nbgrader configuration for this course directory.

`mlgrader build` runs nbgrader's own generate_assignment (in a scratch copy, so this
course's gradebook is untouched); instructors who prefer nbgrader's workflow can run
`nbgrader generate_assignment` / `nbgrader autograde` here directly.
"""

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
# Autograding trains small models; leave room for them.
c.ExecutePreprocessor.timeout = 300
