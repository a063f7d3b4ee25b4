from grader.checks.step02_fastapi_app import *  # the step's checks, collected here

STEP_FOLDER = "02-fastapi-app"
