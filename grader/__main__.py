from grader.main import main

main()
