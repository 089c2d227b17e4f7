"""Golden sequences for schedule_free_sgd, schedule_free_adamw, prodigy, dadapt_adamw.

(placeholder: being written; writes optimizers_free.json)
"""


def main() -> None:
    print("no cases yet")


if __name__ == "__main__":
    main()
