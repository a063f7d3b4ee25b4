from grader.checks.step03_add_note import *  # the step's checks, collected here

STEP_FOLDER = "03-add-note"
