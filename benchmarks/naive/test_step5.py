from grader.checks.step05_database_swap import *  # the step's checks, collected here

STEP_FOLDER = "05-database-swap"
