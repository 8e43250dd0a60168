"""The companion notebook for a course: a student and a teacher's edition from one source, and grading.

``editions`` turns the one companion notebook (its cells tagged ``student``, ``check``, ``teacher``,
``demo``) into the student edition (open cells and checks) and the teacher's edition (worked answers);
``grading`` checks students' copies, each in its own sandbox (``sandbox``, ``checker``), with the checks
of ``checks`` judged outside the sandbox; ``feedback`` writes the class CSV and a page per student.
"""

from digitlab.notebooks.editions import fill, read_notebook, student_edition, teacher_edition, write_edition

__all__ = ["fill", "read_notebook", "student_edition", "teacher_edition", "write_edition"]
