"""The companion notebook for a course: a student and a teacher's edition from one source, and grading.

``editions`` turns the one companion notebook (its cells tagged ``student``, ``check``, ``teacher``,
``demo``) into the student edition (open cells and checks) and the teacher's edition (worked answers);
``grading`` runs students' copies in a real Jupyter kernel and says per assignment passed / failed /
not answered.
"""

from digitlab.notebooks.editions import fill, read_notebook, student_edition, teacher_edition, write_edition
from digitlab.notebooks.grading import Limits, class_table, grade, grade_all

__all__ = ["Limits", "class_table", "fill", "grade", "grade_all", "read_notebook", "student_edition", "teacher_edition",
           "write_edition"]
