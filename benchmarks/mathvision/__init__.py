"""MathVision / MATH-V (MathLLMs/MathVision): competition math with diagrams; test 3,040, testmini 304."""
