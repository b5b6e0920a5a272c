"""ZeroBench (jonathan-roberts1/zerobench): 100 main questions and 334 sub-questions."""
