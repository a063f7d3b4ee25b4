from grader.checks.step01_notes_dict import *  # the step's checks, collected here

STEP_FOLDER = "01-notes-dict"
