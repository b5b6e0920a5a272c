"""MathVista (AI4Math/MathVista): math reasoning in visual contexts; testmini 1,000 items."""
