from grader.checks.step04_list_notes import *  # the step's checks, collected here

STEP_FOLDER = "04-list-notes"
