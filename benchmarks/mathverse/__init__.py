"""MathVerse (AI4Math/MathVerse): 788 problems × 5 versions; vision-only by default."""
