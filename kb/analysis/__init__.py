"""The knowledge layer: what `kb analyze` finds in stored passages.

analyze.py runs the steps: people (people.yml), statements (quotes.py for
quotations, reported.py for reported speech, speakers.py for who a mention
refers to, cues.py, textblocks.py, statements.py), topics (topics.yml),
relevance to the question (relevance.yml), stances (stances.yml) and
republished copies (works.py); nlp.py holds the spaCy pipeline.
"""
